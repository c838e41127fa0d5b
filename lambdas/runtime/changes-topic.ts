import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { awsClientOptions } from './aws-sdk';
import type { ChangesPublisher } from './deps';

/** The run digest to the ChangesTopic (SNS), on the client given or one with the house's timeouts. */
export function snsPublisher(topicArn: string, sns: SNSClient = new SNSClient(awsClientOptions())): ChangesPublisher {
  return {
    async publish({ subject, message }) {
      await sns.send(new PublishCommand({ TopicArn: topicArn, Subject: subject, Message: message }));
    },
  };
}
