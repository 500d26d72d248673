//! SQS build queues on moto: a work queue whose redrive policy sends a job to a dead-letter
//! queue after `max_receives` takes, as `pier setup aws` makes them.

use aws_sdk_sqs::types::QueueAttributeName as Attribute;

pub struct BuildQueues {
    pub client: aws_sdk_sqs::Client,
    pub work: String,
    pub dead: String,
}

impl BuildQueues {
    pub async fn create(moto: &crate::Moto, max_receives: u32) -> BuildQueues {
        let config = pier_core::aws::load(Some(&moto.endpoint), Some(crate::TEST_REGION)).await;
        let client = aws_sdk_sqs::Client::new(&config);
        let dead = client
            .create_queue()
            .queue_name("pier-builds-dead")
            .send()
            .await
            .expect("moto creates queues")
            .queue_url
            .expect("a queue URL");
        let dead_arn = client
            .get_queue_attributes()
            .queue_url(&dead)
            .attribute_names(Attribute::QueueArn)
            .send()
            .await
            .expect("moto answers")
            .attributes
            .expect("attributes")[&Attribute::QueueArn]
            .clone();
        let work = client
            .create_queue()
            .queue_name("pier-builds")
            .attributes(Attribute::VisibilityTimeout, "30")
            .attributes(
                Attribute::RedrivePolicy,
                format!(
                    r#"{{"deadLetterTargetArn":"{dead_arn}","maxReceiveCount":"{max_receives}"}}"#
                ),
            )
            .send()
            .await
            .expect("moto creates queues")
            .queue_url
            .expect("a queue URL");
        BuildQueues { client, work, dead }
    }

    /// Messages in `queue`, visible or taken.
    pub async fn depth(&self, queue: &str) -> u64 {
        let attributes = self
            .client
            .get_queue_attributes()
            .queue_url(queue)
            .attribute_names(Attribute::ApproximateNumberOfMessages)
            .attribute_names(Attribute::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .expect("moto answers")
            .attributes
            .expect("attributes");
        [
            Attribute::ApproximateNumberOfMessages,
            Attribute::ApproximateNumberOfMessagesNotVisible,
        ]
        .iter()
        .map(|name| attributes[name].parse::<u64>().unwrap_or(0))
        .sum()
    }
}
