import { buildApp } from './build-app';

// The CLI sets CDK_DEFAULT_* from the current credentials, if any; without them the stack is environment-agnostic.
const { app } = buildApp({ env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION } });

app.synth();
