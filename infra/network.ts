import { Annotations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';

export interface DatabaseNetworkProps {
  vpcId: string;
  subnetIds: string[];
  availabilityZones: string[];
  /** An existing security group for the Lambdas; absent: one is created that allows all outbound traffic. */
  securityGroupId?: string;
}

/** Where the Lambdas run when the database is in a VPC. Built from ids only, so synth needs no AWS lookups. */
export class DatabaseNetwork extends Construct {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly securityGroups: ec2.ISecurityGroup[];

  constructor(scope: Construct, id: string, props: DatabaseNetworkProps) {
    super(scope, id);
    this.vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', { vpcId: props.vpcId, availabilityZones: props.availabilityZones });
    this.subnets = {
      subnets: props.subnetIds.map((subnetId, index) => {
        const subnet = ec2.Subnet.fromSubnetAttributes(this, `Subnet${index}`, { subnetId, availabilityZone: props.availabilityZones[index] });
        Annotations.of(subnet).acknowledgeWarning('@aws-cdk/aws-ec2:noSubnetRouteTableId', 'The Lambdas only need the subnet id; nothing reads its route table.');
        return subnet;
      }),
    };
    this.securityGroups = [
      props.securityGroupId
        ? ec2.SecurityGroup.fromSecurityGroupId(this, 'SecurityGroup', props.securityGroupId, { mutable: false })
        : new ec2.SecurityGroup(this, 'SecurityGroup', {
            vpc: this.vpc,
            description: 'sender-sync Lambdas: outbound to Postgres, EmailBison and Secrets Manager; no inbound',
            allowAllOutbound: true,
          }),
    ];
  }
}
