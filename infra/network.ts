import { Annotations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';

export interface DatabaseNetworkProps {
  vpcId: string;
  subnetIds: string[];
  availabilityZones: string[];
  /** An existing security group for the Lambdas; absent: one is created that allows all outbound traffic. */
  securityGroupId?: string;
  /** The operator's word that the subnets route to the internet through a NAT gateway (synth cannot see route tables). */
  subnetsRouteToInternet: boolean;
  /** Create a Secrets Manager interface endpoint (private DNS) in the subnets, open on 443 to the Lambdas' security group. */
  createSecretsManagerEndpoint: boolean;
}

/**
 * Where the Lambdas run when the database is in a VPC. Built from ids only, so synth
 * needs no AWS lookups, and so it cannot see routes: a Lambda in a VPC has no public IP,
 * so EmailBison (on the internet) needs a NAT route, and Secrets Manager needs either
 * that route or an interface endpoint. Without them every call hangs until the SDK's
 * connect timeout; the synth warns unless the operator has said which one holds.
 */
export class DatabaseNetwork extends Construct {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly securityGroups: ec2.ISecurityGroup[];
  /** The Lambdas' security group, created or imported. */
  readonly securityGroup: ec2.ISecurityGroup;
  readonly secretsManagerEndpoint?: ec2.InterfaceVpcEndpoint;

  constructor(scope: Construct, id: string, props: DatabaseNetworkProps) {
    super(scope, id);
    this.vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', { vpcId: props.vpcId, availabilityZones: props.availabilityZones });
    this.subnets = {
      subnets: props.subnetIds.map((subnetId, index) => {
        const subnet = ec2.Subnet.fromSubnetAttributes(this, `Subnet${index}`, {
          subnetId,
          availabilityZone: props.availabilityZones[index],
        });
        Annotations.of(subnet).acknowledgeWarning(
          '@aws-cdk/aws-ec2:noSubnetRouteTableId',
          'The Lambdas only need the subnet id; nothing reads its route table.',
        );
        return subnet;
      }),
    };
    this.securityGroup = props.securityGroupId
      ? ec2.SecurityGroup.fromSecurityGroupId(this, 'SecurityGroup', props.securityGroupId, { mutable: false })
      : new ec2.SecurityGroup(this, 'SecurityGroup', {
          vpc: this.vpc,
          description: 'sender-sync Lambdas: outbound to Postgres, EmailBison and Secrets Manager; no inbound',
          allowAllOutbound: true,
        });
    this.securityGroups = [this.securityGroup];

    if (props.createSecretsManagerEndpoint) {
      this.secretsManagerEndpoint = new ec2.InterfaceVpcEndpoint(this, 'SecretsManagerEndpoint', {
        vpc: this.vpc,
        service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
        subnets: this.subnets,
        // The SDK calls secretsmanager.<region>.amazonaws.com: private DNS answers it with the endpoint.
        privateDnsEnabled: true,
        open: false,
      });
      this.secretsManagerEndpoint.connections.allowFrom(this.securityGroup, ec2.Port.tcp(443), 'sender-sync Lambdas call Secrets Manager');
    }

    if (!props.subnetsRouteToInternet) {
      Annotations.of(this).addWarningV2(
        'sender-sync:vpcRoutes',
        'The Lambdas run in the given subnets, which must route to the internet through a NAT gateway: sync-workspace calls EmailBison' +
          (props.createSecretsManagerEndpoint
            ? ''
            : ', and every function reads Secrets Manager (or set sender-sync:createSecretsManagerEndpoint=true)') +
          '. Once they do, set sender-sync:subnetsRouteToInternet=true.',
      );
    }
  }
}
