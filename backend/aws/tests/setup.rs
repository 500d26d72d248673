//! `pier setup aws` against moto: a plan changes nothing; an apply provisions everything
//! (resuming once the certificate is validated); a second apply changes nothing; teardown
//! removes exactly what setup made and leaves what was there before.

use std::time::Duration;

use aws_sdk_cloudfront::types::{
    AllowedMethods, CookiePreference, ForwardedValues, ItemSelection, Method,
};
use pier_aws::setup::record::SetupRecord;
use pier_aws::setup::{self, Action, Clients, Mode, SetupSpec, TaskRange, cdn};
use pier_tests::Moto;

fn spec() -> SetupSpec {
    SetupSpec {
        name: "pier".into(),
        region: "us-east-1".into(),
        bucket: "pier-sites-example-com".into(),
        base_domain: "sites.example.com".into(),
        builder_image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/pier-builder:0.1.0".into(),
        proxy_image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/pier-proxy:0.1.0".into(),
        proxy_tasks: TaskRange { min: 1, max: 4 },
        builder_tasks: TaskRange { min: 0, max: 3 },
        proxy_requests_per_task: 1000,
        jobs_per_builder: 2,
        log_retention_days: 14,
        job_visibility_secs: 90,
        redis_url: Some(setup::secrets::SecretValue::new(
            "redis://:builder-secret@cache.internal:6379",
        )),
        images: setup::ImageSource::Mirror,
        // Graviton tasks: the task definitions must say so.
        cpu_architecture: "ARM64".into(),
        other_regions: Vec::new(),
        serving_only: false,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn setup_provisions_resumes_changes_nothing_twice_and_tears_down_only_its_own() {
    let moto = Moto::start();
    let clients = Clients::connect("us-east-1", Some(&moto.endpoint)).await;
    // What the user had before: a zone for their domain, a bucket and a queue of their own.
    let zone = moto.hosted_zone("example.com").await;
    clients
        .s3
        .create_bucket()
        .bucket("users-own-bucket")
        .send()
        .await
        .unwrap();
    clients
        .sqs
        .create_queue()
        .queue_name("users-own-queue")
        .send()
        .await
        .unwrap();

    let records = tempfile::tempdir().unwrap();
    let path = records.path().join("aws-pier-us-east-1.json");
    let mut record = SetupRecord::open(&path, "pier", "us-east-1").unwrap();

    // A plan creates nothing.
    let plan = setup::run(&clients, &spec(), Mode::Plan, &mut record)
        .await
        .unwrap();
    assert!(
        plan.changes
            .iter()
            .any(|c| c.resource == "bucket" && c.action == Action::Create)
    );
    assert!(record.created.is_empty());
    assert!(!moto.has_bucket("pier-sites-example-com").await);

    // The first apply makes everything up to the certificate, which waits for validation.
    let first = setup::run(&clients, &spec(), Mode::Apply, &mut record)
        .await
        .unwrap();
    let waiting: Vec<_> = first
        .changes
        .iter()
        .filter(|c| c.action == Action::Waiting)
        .collect();
    // moto validates certificates after MOTO_ACM_VALIDATION_WAIT (the kit sets 1 s): an
    // apply racing that second may see it issued already, which is fine too.
    assert!(waiting.len() <= 1, "{waiting:?}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let second = setup::run(&clients, &spec(), Mode::Apply, &mut record)
        .await
        .unwrap();
    assert!(
        second.changes.iter().all(|c| c.action != Action::Waiting),
        "{:#?}",
        second.changes
    );
    let out = &second.outputs;

    // The bucket is private, encrypted and has its lifecycle rules.
    let s3 = &clients.s3;
    let block = s3
        .get_public_access_block()
        .bucket("pier-sites-example-com")
        .send()
        .await
        .unwrap();
    let block = block.public_access_block_configuration().unwrap();
    assert_eq!(block.block_public_acls(), Some(true));
    assert_eq!(block.restrict_public_buckets(), Some(true));
    assert!(
        s3.get_bucket_encryption()
            .bucket("pier-sites-example-com")
            .send()
            .await
            .is_ok()
    );
    let lifecycle = s3
        .get_bucket_lifecycle_configuration()
        .bucket("pier-sites-example-com")
        .send()
        .await
        .unwrap();
    assert_eq!(lifecycle.rules().len(), 3);

    // The queue sends repeat failures to its dead-letter queue.
    let attributes = clients
        .sqs
        .get_queue_attributes()
        .queue_url(out.queue_url.as_deref().unwrap())
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .unwrap();
    let redrive =
        &attributes.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy];
    assert!(redrive.contains("pier-builds-dead"), "{redrive}");

    // The proxy role may only read the bucket.
    let policy = clients
        .iam
        .get_role_policy()
        .role_name("pier-proxy")
        .policy_name("pier")
        .send()
        .await
        .unwrap();
    let document = percent_decoded(policy.policy_document());
    assert!(document.contains("s3:GetObject"));
    assert!(!document.contains("PutObject"));
    // … and invoke Pier's functions, only those.
    assert!(
        document.contains(r#""lambda:InvokeFunction""#)
            && document.contains("arn:aws:lambda:us-east-1:*:function:pier-fn-*"),
        "{document}"
    );

    // Functions: a role only Lambda may assume, that may only log; their log group; and the
    // store's record that makes deploys publish versions.
    let functions_role = clients
        .iam
        .get_role()
        .role_name("pier-functions")
        .send()
        .await
        .unwrap();
    let trust = percent_decoded(
        functions_role
            .role()
            .unwrap()
            .assume_role_policy_document()
            .unwrap(),
    );
    assert!(trust.contains("lambda.amazonaws.com"), "{trust}");
    let functions_policy = clients
        .iam
        .get_role_policy()
        .role_name("pier-functions")
        .policy_name("pier")
        .send()
        .await
        .unwrap();
    let functions_policy = percent_decoded(functions_policy.policy_document());
    assert!(
        functions_policy.contains("log-group:/pier/pier/functions:*")
            && !functions_policy.contains("s3:"),
        "{functions_policy}"
    );
    let functions_group = clients
        .logs
        .describe_log_groups()
        .log_group_name_prefix("/pier/pier/functions")
        .send()
        .await
        .unwrap();
    assert_eq!(
        functions_group.log_groups()[0].retention_in_days(),
        Some(14)
    );
    let settings = s3
        .get_object()
        .bucket("pier-sites-example-com")
        .key("settings/functions.json")
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    let settings: pier_core::lambda::FunctionsRuntime = serde_json::from_slice(&settings).unwrap();
    let pier_core::lambda::FunctionsRuntime::Lambda(settings) = settings;
    assert_eq!(settings.function_prefix, "pier-fn-");
    assert_eq!(settings.log_group.as_deref(), Some("/pier/pier/functions"));
    assert_eq!(
        Some(settings.role_arn.as_str()),
        functions_role.role().map(|r| r.arn())
    );

    // ECS: the cluster, both task definitions, both services; the proxy sits behind the ALB.
    let services = clients
        .ecs
        .describe_services()
        .cluster("pier")
        .services("pier-proxy")
        .services("pier-builders")
        .send()
        .await
        .unwrap();
    assert_eq!(services.services().len(), 2);
    let proxy = services
        .services()
        .iter()
        .find(|s| s.service_name() == Some("pier-proxy"))
        .unwrap();
    assert_eq!(
        proxy
            .load_balancers()
            .first()
            .and_then(|b| b.target_group_arn()),
        out.target_group_arn.as_deref()
    );
    let builder = clients
        .ecs
        .describe_task_definition()
        .task_definition("pier-builder")
        .send()
        .await
        .unwrap();
    let container = &builder.task_definition().unwrap().container_definitions()[0];
    assert_eq!(container.command(), ["worker"]);
    // Graviton, as asked; and an image not pinned by digest is used as given, not copied.
    assert_eq!(
        builder
            .task_definition()
            .unwrap()
            .runtime_platform()
            .and_then(|p| p.cpu_architecture())
            .map(|a| a.as_str()),
        Some("ARM64")
    );
    assert_eq!(container.image(), Some(spec().builder_image.as_str()));
    assert!(
        second
            .changes
            .iter()
            .any(|c| c.resource == "image" && c.name == "builder" && c.action == Action::Exists),
        "{:#?}",
        second.changes
    );
    assert!(
        container
            .environment()
            .iter()
            .any(|kv| kv.name() == Some("PIER_BUILD_QUEUE")
                && kv.value() == out.queue_url.as_deref())
    );
    // The builders run as the image's non-root user, with the queue settings setup made and
    // the Redis URL as a Secrets Manager secret, never in the definition itself.
    assert_eq!(container.user(), Some("10001:10001"));
    let variable = |name: &str| {
        container
            .environment()
            .iter()
            .find(|kv| kv.name() == Some(name))
            .and_then(|kv| kv.value())
            .map(str::to_string)
    };
    assert_eq!(
        variable("PIER_BUILD_VISIBILITY_SECS").as_deref(),
        Some("90")
    );
    assert_eq!(variable("PIER_BUILD_MAX_ATTEMPTS").as_deref(), Some("3"));
    let definition_text = format!("{container:?}");
    assert!(
        !definition_text.contains("builder-secret"),
        "{definition_text}"
    );
    let secret_arn = out.redis_secret_arn.clone().expect("setup made the secret");
    assert_eq!(container.secrets()[0].name(), "PIER_REDIS_URL");
    assert_eq!(container.secrets()[0].value_from(), secret_arn);
    let stored = clients
        .secrets
        .get_secret_value()
        .secret_id(&secret_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        stored.secret_string(),
        Some("redis://:builder-secret@cache.internal:6379")
    );
    let execution = clients
        .iam
        .get_role_policy()
        .role_name("pier-execution")
        .policy_name("pier")
        .send()
        .await
        .unwrap();
    assert!(
        execution.policy_document().contains("GetSecretValue"),
        "the execution role may read the secret: {}",
        execution.policy_document()
    );
    let visibility = clients
        .sqs
        .get_queue_attributes()
        .queue_url(out.queue_url.as_deref().unwrap())
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout)
        .send()
        .await
        .unwrap();
    assert_eq!(
        visibility.attributes().unwrap()
            [&aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout],
        "90",
        "the queue and the workers agree on the visibility timeout"
    );
    // The proxy: non-root, read-only root, and ECS's health check runs the binary itself.
    let proxy_definition = clients
        .ecs
        .describe_task_definition()
        .task_definition("pier-proxy")
        .send()
        .await
        .unwrap();
    let proxy_container = &proxy_definition
        .task_definition()
        .unwrap()
        .container_definitions()[0];
    assert_eq!(proxy_container.user(), Some("65532:65532"));
    assert!(
        proxy_container
            .environment()
            .iter()
            .any(|kv| kv.name() == Some("PIER_FUNCTIONS_LAMBDA") && kv.value() == Some("true")),
        "the proxy invokes functions on Lambda"
    );
    assert_eq!(proxy_container.readonly_root_filesystem(), Some(true));
    assert_eq!(
        proxy_container.health_check().unwrap().command(),
        ["CMD", "/usr/local/bin/pier-proxy", "health"]
    );
    // The task's own output goes to CloudWatch, kept as long as asked.
    let logging = container.log_configuration().expect("awslogs is set");
    assert_eq!(logging.log_driver().as_str(), "awslogs");
    let options = logging.options().unwrap();
    assert_eq!(options["awslogs-group"], "/pier/pier");
    assert_eq!(options["awslogs-stream-prefix"], "builder");
    let groups = clients
        .logs
        .describe_log_groups()
        .log_group_name_prefix("/pier/pier")
        .send()
        .await
        .unwrap();
    assert_eq!(groups.log_groups()[0].retention_in_days(), Some(14));

    // The balancer only takes traffic from CloudFront's prefix list.
    let groups = clients
        .ec2
        .describe_security_groups()
        .group_ids(out.balancer_group.as_deref().unwrap())
        .send()
        .await
        .unwrap();
    let rules = groups.security_groups()[0].ip_permissions();
    assert!(!rules.is_empty());
    assert!(
        rules
            .iter()
            .all(|r| r.ip_ranges().is_empty() && !r.prefix_list_ids().is_empty())
    );

    // Both services scale within the limits given.
    let targets = clients
        .scaling
        .describe_scalable_targets()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
        .send()
        .await
        .unwrap();
    assert_eq!(targets.scalable_targets().len(), 2);

    // CloudFront serves *.sites.example.com with the certificate; DNS points there.
    let distribution = clients
        .cloudfront
        .get_distribution()
        .id(out.distribution_id.as_deref().unwrap())
        .send()
        .await
        .unwrap();
    let config = distribution
        .distribution()
        .unwrap()
        .distribution_config()
        .unwrap();
    assert_eq!(config.aliases().unwrap().items(), ["*.sites.example.com"]);
    assert_eq!(
        config.viewer_certificate().unwrap().acm_certificate_arn(),
        out.certificate_arn.as_deref()
    );
    assert_eq!(
        config.origins().unwrap().items()[0].domain_name(),
        out.balancer_dns.as_deref().unwrap()
    );
    // Functions take POST and read cookies: every method and the whole request reach the proxy.
    let behavior = config.default_cache_behavior().unwrap();
    let methods = behavior.allowed_methods().unwrap();
    assert_eq!(methods.items().len(), 7);
    assert!(methods.items().contains(&Method::Post));
    assert_eq!(
        methods.cached_methods().unwrap().items(),
        [Method::Get, Method::Head]
    );
    assert_eq!(behavior.cache_policy_id(), Some(cdn::CACHE_POLICY_ID));
    assert_eq!(
        behavior.origin_request_policy_id(),
        Some(cdn::ORIGIN_REQUEST_POLICY_ID)
    );
    let dns = clients
        .route53
        .list_resource_record_sets()
        .hosted_zone_id(&zone)
        .send()
        .await
        .unwrap();
    let wildcard: Vec<_> = dns
        .resource_record_sets()
        .iter()
        .filter(|r| r.name().replace("\\052", "*") == "*.sites.example.com.")
        .collect();
    assert_eq!(wildcard.len(), 2, "A and AAAA");
    assert!(wildcard.iter().all(|r| r.alias_target().is_some_and(|a| {
        a.dns_name().trim_end_matches('.') == out.distribution_domain.as_deref().unwrap()
    })));

    // A distribution made before functions (GET and HEAD, only Host forwarded) is corrected
    // in place, its aliases kept; then a run changes nothing.
    make_behavior_legacy(&clients, out.distribution_id.as_deref().unwrap()).await;
    let corrected = setup::run(&clients, &spec(), Mode::Apply, &mut record)
        .await
        .unwrap();
    let updates: Vec<_> = corrected
        .changes
        .iter()
        .filter(|c| c.action != Action::Exists)
        .collect();
    assert_eq!(updates.len(), 1, "{updates:#?}");
    assert_eq!(updates[0].resource, "distribution");
    assert!(
        updates[0]
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("methods allowed") && d.contains("cookies")),
        "{updates:#?}"
    );
    let config = clients
        .cloudfront
        .get_distribution_config()
        .id(out.distribution_id.as_deref().unwrap())
        .send()
        .await
        .unwrap()
        .distribution_config
        .unwrap();
    let behavior = config.default_cache_behavior().unwrap();
    assert_eq!(behavior.allowed_methods().unwrap().items().len(), 7);
    assert_eq!(behavior.cache_policy_id(), Some(cdn::CACHE_POLICY_ID));
    assert_eq!(config.aliases().unwrap().items(), ["*.sites.example.com"]);
    let again = setup::run(&clients, &spec(), Mode::Apply, &mut record)
        .await
        .unwrap();
    assert!(again.changed_nothing(), "{:#?}", again.changes);

    // A deploy made the project's function; teardown deletes it with what setup made.
    let lambda = aws_sdk_lambda::Client::new(&moto.sdk_config().await);
    lambda
        .create_function()
        .function_name("pier-fn-shop")
        .role(&settings.role_arn)
        .runtime(aws_sdk_lambda::types::Runtime::Nodejs20x)
        .handler("___pier/lambda.handler")
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(empty_zip()))
                .build(),
        )
        .send()
        .await
        .unwrap();

    // The record survives a restart (it is read back from disk) and drives the teardown.
    let mut reopened = SetupRecord::open(&path, "pier", "us-east-1").unwrap();
    assert_eq!(reopened.created, record.created);
    setup::teardown(&clients, &mut reopened).await.unwrap();
    assert!(reopened.created.is_empty());
    assert!(!moto.has_bucket("pier-sites-example-com").await);
    let groups = clients
        .logs
        .describe_log_groups()
        .log_group_name_prefix("/pier/")
        .send()
        .await
        .unwrap();
    assert!(groups.log_groups().is_empty(), "{groups:?}");
    assert!(
        clients
            .secrets
            .describe_secret()
            .secret_id(&secret_arn)
            .send()
            .await
            .is_err(),
        "teardown deletes the secret setup made"
    );
    assert!(
        clients
            .iam
            .get_role()
            .role_name("pier-proxy")
            .send()
            .await
            .is_err()
    );
    assert!(
        lambda
            .get_function()
            .function_name("pier-fn-shop")
            .send()
            .await
            .is_err(),
        "teardown deletes the functions deploys made under setup's prefix"
    );
    assert!(
        clients
            .iam
            .get_role()
            .role_name("pier-functions")
            .send()
            .await
            .is_err()
    );
    let distributions = clients
        .cloudfront
        .list_distributions()
        .send()
        .await
        .unwrap();
    assert!(
        distributions
            .distribution_list()
            .map(|l| l.items().is_empty())
            .unwrap_or(true)
    );
    // What the user had is untouched.
    assert!(moto.has_bucket("users-own-bucket").await);
    clients
        .sqs
        .get_queue_url()
        .queue_name("users-own-queue")
        .send()
        .await
        .unwrap();
    clients
        .route53
        .get_hosted_zone()
        .id(&zone)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_base_domain_without_a_zone_in_the_account_says_what_to_create() {
    let moto = Moto::start();
    let clients = Clients::connect("us-east-1", Some(&moto.endpoint)).await;
    let records = tempfile::tempdir().unwrap();
    let mut record =
        SetupRecord::open(&records.path().join("r.json"), "pier", "us-east-1").unwrap();
    let report = setup::run(&clients, &spec(), Mode::Plan, &mut record)
        .await
        .unwrap();
    let zone = report
        .changes
        .iter()
        .find(|c| c.resource == "dns zone")
        .unwrap();
    assert_eq!(zone.action, Action::Waiting);
    assert!(
        zone.detail
            .as_deref()
            .unwrap()
            .contains("create-hosted-zone")
    );
    let mut bad = spec();
    bad.proxy_tasks = TaskRange { min: 3, max: 1 };
    let error = setup::run(&clients, &bad, Mode::Plan, &mut record)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("3–1"), "{error}");
    let mut bad = spec();
    bad.log_retention_days = 10;
    let error = setup::run(&clients, &bad, Mode::Plan, &mut record)
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("cannot keep logs 10 days"),
        "{error}"
    );
}

/// The default behaviour as setup made it before functions: GET and HEAD, only Host forwarded.
#[allow(deprecated)] // the legacy forwarding settings are what such a distribution holds
async fn make_behavior_legacy(clients: &Clients, id: &str) {
    let found = clients
        .cloudfront
        .get_distribution_config()
        .id(id)
        .send()
        .await
        .unwrap();
    let etag = found.e_tag().unwrap().to_string();
    let mut config = found.distribution_config.unwrap();
    let behavior = config.default_cache_behavior.as_mut().unwrap();
    behavior.allowed_methods = Some(
        AllowedMethods::builder()
            .quantity(2)
            .items(Method::Get)
            .items(Method::Head)
            .build()
            .unwrap(),
    );
    behavior.cache_policy_id = None;
    behavior.origin_request_policy_id = None;
    behavior.forwarded_values = Some(
        ForwardedValues::builder()
            .query_string(true)
            .cookies(
                CookiePreference::builder()
                    .forward(ItemSelection::None)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap(),
    );
    clients
        .cloudfront
        .update_distribution()
        .id(id)
        .if_match(etag)
        .distribution_config(config)
        .send()
        .await
        .unwrap();
}

/// IAM returns policy documents percent-encoded.
fn percent_decoded(document: &str) -> String {
    percent_encoding::percent_decode_str(document)
        .decode_utf8_lossy()
        .into_owned()
}

/// The smallest valid zip: an end-of-central-directory record alone.
fn empty_zip() -> Vec<u8> {
    let mut zip = vec![0x50, 0x4b, 0x05, 0x06];
    zip.extend([0u8; 18]);
    zip
}
