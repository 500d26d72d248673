//! The SQS build queue: build jobs as JSON messages, taken by builder workers
//! ([`crate::builds::worker`]). SQS gives each taken message a visibility timeout; a worker that
//! dies mid-build lets it lapse and another worker takes the job again. The queue's redrive
//! policy moves a job that keeps failing for transient reasons to the dead-letter queue after
//! `maxReceiveCount` takes, where an operator can look at it.

use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::MessageSystemAttributeName;

use crate::builds::job::BuildJob;
use crate::error::PierError;

/// A queue of build jobs.
#[derive(Clone)]
pub struct BuildQueue {
    client: Client,
    url: String,
}

/// A job taken from the queue and not yet completed.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub body: String,
    pub receipt: String,
    /// How many times the job has been taken, this time included.
    pub receive_count: u32,
}

impl BuildQueue {
    /// A queue through the standard AWS chain; `endpoint` points at an emulator in tests.
    pub async fn connect(url: &str, endpoint: Option<&str>) -> BuildQueue {
        let config = crate::aws::load(endpoint, crate::aws::region_of_queue_url(url)).await;
        BuildQueue {
            client: Client::new(&config),
            url: url.to_string(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Puts a job on the queue after checking it; returns the message id.
    pub async fn enqueue(&self, job: &BuildJob) -> Result<String, PierError> {
        job.validate()?;
        let output = self
            .client
            .send_message()
            .queue_url(&self.url)
            .message_body(serde_json::to_string(job).expect("jobs serialise"))
            .send()
            .await
            .map_err(|e| self.error("SendMessage", e))?;
        Ok(output.message_id().unwrap_or_default().to_string())
    }

    /// Opens the job's log with a `queued` status (so a follower can attach at once, before
    /// any worker takes it), then enqueues it.
    pub async fn submit(
        &self,
        job: &BuildJob,
        logs: std::sync::Arc<dyn crate::logs::LogBackend>,
    ) -> Result<String, PierError> {
        job.validate()?;
        let log = crate::logs::LogWriter::new(&job.deployment, logs, Vec::new());
        log.status(
            crate::logs::BuildStatus::Queued,
            Some("waiting for a builder".into()),
        )
        .await;
        log.flush().await;
        self.enqueue(job).await
    }

    /// Takes up to `max` (1–10) jobs, waiting up to `wait` (long poll, at most 20 s) for one.
    pub async fn receive(&self, max: i32, wait: Duration) -> Result<Vec<Delivery>, PierError> {
        let output = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max.clamp(1, 10))
            .wait_time_seconds(wait.as_secs().min(20) as i32)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| self.error("ReceiveMessage", e))?;
        Ok(output
            .messages()
            .iter()
            .filter_map(|message| {
                Some(Delivery {
                    body: message.body()?.to_string(),
                    receipt: message.receipt_handle()?.to_string(),
                    receive_count: message
                        .attributes()
                        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                        .and_then(|count| count.parse().ok())
                        .unwrap_or(1),
                })
            })
            .collect())
    }

    /// Removes a finished job (built, or failed for good) from the queue.
    pub async fn complete(&self, delivery: &Delivery) -> Result<(), PierError> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(&delivery.receipt)
            .send()
            .await
            .map_err(|e| self.error("DeleteMessage", e))?;
        Ok(())
    }

    /// Keeps the job hidden from other workers for `for_` from now: a heartbeat while it
    /// builds, or a back-off before the next try.
    pub async fn hide(&self, delivery: &Delivery, for_: Duration) -> Result<(), PierError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(&delivery.receipt)
            .visibility_timeout(for_.as_secs().min(43_200) as i32)
            .send()
            .await
            .map_err(|e| self.error("ChangeMessageVisibility", e))?;
        Ok(())
    }

    fn error<E: std::error::Error + Send + Sync + 'static>(
        &self,
        call: &str,
        error: aws_sdk_sqs::error::SdkError<E>,
    ) -> PierError {
        let detail = aws_sdk_sqs::error::DisplayErrorContext(&error).to_string();
        PierError::Queue {
            queue: self.url.clone(),
            detail: format!("{call}: {}", detail.chars().take(300).collect::<String>()),
            source: Some(Box::new(error)),
        }
    }
}
