import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { describeError, IntakeUnavailableError } from '../errors';
import { encodeIntakeMessage, type IntakeQueue } from './intake';

/** The intake queue on AWS: one SendMessage per delivery (or digest tick), stored before the receiver answers. */
export function sqsIntakeQueue(sqs: Pick<SQSClient, 'send'>, queueUrl: string): IntakeQueue {
  return {
    async send(message, options = {}) {
      try {
        await sqs.send(
          new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: encodeIntakeMessage(message), DelaySeconds: options.delaySeconds }),
        );
      } catch (error) {
        throw new IntakeUnavailableError(`The intake queue (SQS) did not take the message: ${describeError(error)}.`, {
          cause: error,
          retryAfterSeconds: 5,
        });
      }
    },
  };
}
