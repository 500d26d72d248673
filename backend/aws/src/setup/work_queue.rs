//! The SQS build queue and its dead-letter queue. Jobs are encrypted at rest (SQS-managed
//! SSE); a job taken three times without finishing moves to the dead-letter queue, which keeps
//! it 14 days for an operator to look at. The visibility timeout is the spec's
//! `job_visibility_secs`, which the builder task definition also hands the workers for their
//! heartbeat ([`pier_core::builds::worker`]), so the two agree by construction.

use aws_sdk_sqs::types::QueueAttributeName as Attribute;

use crate::setup::record::Created;
use crate::setup::spec::{Change, Clients, aws_error, code_of};
use crate::setup::step::{Found, Step};
use pier_core::error::PierError;

pub const MAX_RECEIVES: u32 = 3;

pub async fn ensure(step: &mut Step<'_>) -> Result<(), PierError> {
    let (clients, spec) = (step.clients, step.spec);
    let dead_name = spec.resource("builds-dead");
    let dead_attributes = [
        (Attribute::MessageRetentionPeriod, "1209600".to_string()),
        (Attribute::SqsManagedSseEnabled, "true".to_string()),
    ];
    let dead_url = queue(step, &dead_name, &dead_attributes).await?;
    step.out.dead_letter_url = dead_url.clone();
    let dead_arn = match &dead_url {
        Some(url) => Some(arn(clients, url).await?),
        None => None,
    };
    let name = spec.resource("builds");
    let mut attributes = vec![
        (
            Attribute::VisibilityTimeout,
            spec.job_visibility_secs.to_string(),
        ),
        (Attribute::ReceiveMessageWaitTimeSeconds, "20".to_string()),
        (Attribute::SqsManagedSseEnabled, "true".to_string()),
    ];
    if let Some(dead_arn) = &dead_arn {
        attributes.push((
            Attribute::RedrivePolicy,
            format!(r#"{{"deadLetterTargetArn":"{dead_arn}","maxReceiveCount":"{MAX_RECEIVES}"}}"#),
        ));
    }
    let url = queue(step, &name, &attributes).await?;
    if let Some(url) = &url {
        step.out.queue_arn = Some(arn(clients, url).await?);
    }
    step.out.queue_url = url;
    Ok(())
}

/// Finds the queue by name; creates it (apply) when missing. An existing queue whose
/// attributes differ is corrected.
async fn queue(
    step: &mut Step<'_>,
    name: &str,
    attributes: &[(Attribute, String)],
) -> Result<Option<String>, PierError> {
    let clients = step.clients;
    let sqs = &clients.sqs;
    let existing = match sqs.get_queue_url().queue_name(name).send().await {
        Ok(output) => output.queue_url().map(str::to_string),
        Err(e) if code_of(&e).contains("NonExistentQueue") => None,
        Err(e) => return Err(aws_error("GetQueueUrl", e)),
    };
    let mut differs = Vec::new();
    let found = match existing {
        None => Found::Missing,
        Some(url) => {
            let current = sqs
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(Attribute::All)
                .send()
                .await
                .map_err(|e| aws_error("GetQueueAttributes", e))?;
            let current = current.attributes().cloned().unwrap_or_default();
            differs = attributes
                .iter()
                .filter(|(key, value)| {
                    current.get(key).map(|v| normalize(v)) != Some(normalize(value))
                })
                .cloned()
                .collect();
            if differs.is_empty() {
                Found::AsWanted(url)
            } else {
                Found::Differs(url)
            }
        }
    };
    step.ensure(Change::about("queue", name), found, |existing| async move {
        if let Some(url) = existing {
            let mut set = sqs.set_queue_attributes().queue_url(&url);
            for (key, value) in differs {
                set = set.attributes(key, value);
            }
            set.send()
                .await
                .map_err(|e| aws_error("SetQueueAttributes", e))?;
            return Ok((url, None));
        }
        let mut create = sqs.create_queue().queue_name(name);
        for (key, value) in attributes {
            create = create.attributes(key.clone(), value);
        }
        let url = create
            .send()
            .await
            .map_err(|e| aws_error("CreateQueue", e))?
            .queue_url()
            .unwrap_or_default()
            .to_string();
        Ok((url.clone(), Some(Created::Queue { url })))
    })
    .await
}

/// Redrive policies come back with numbers as numbers or strings; compare without spaces
/// and quotes around numbers.
fn normalize(value: &str) -> String {
    value.replace([' ', '"'], "")
}

async fn arn(clients: &Clients, url: &str) -> Result<String, PierError> {
    let output = clients
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(Attribute::QueueArn)
        .send()
        .await
        .map_err(|e| aws_error("GetQueueAttributes", e))?;
    Ok(output
        .attributes()
        .and_then(|a| a.get(&Attribute::QueueArn))
        .cloned()
        .unwrap_or_default())
}
