//! `pier setup aws --regions` against moto: the primary gets everything, another region only
//! what serves sites (its bucket, load balancer, proxy service), Route53 latency records send
//! the origin name to every region's load balancer, CloudFront's origin is that name; a region
//! added later is made alone, a region left out is torn down exactly, and teardown removes
//! every region.

use std::time::Duration;

use pier_aws::setup::regions::{self, Connection};
use pier_aws::setup::{self, Action, Clients, Mode, SetupSpec, TaskRange};
use pier_tests::Moto;

const BUCKET: &str = "pier-sites-example-com";

fn spec(others: &[&str]) -> SetupSpec {
    SetupSpec {
        name: "pier".into(),
        region: "us-east-1".into(),
        bucket: BUCKET.into(),
        base_domain: "sites.example.com".into(),
        builder_image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/pier-builder:0.1.0".into(),
        proxy_image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/pier-proxy:0.1.0".into(),
        proxy_tasks: TaskRange { min: 1, max: 4 },
        builder_tasks: TaskRange { min: 0, max: 3 },
        proxy_requests_per_task: 1000,
        jobs_per_builder: 2,
        log_retention_days: 14,
        job_visibility_secs: 90,
        redis_url: None,
        images: setup::ImageSource::Mirror,
        cpu_architecture: "X86_64".into(),
        other_regions: others.iter().map(|r| r.to_string()).collect(),
        serving_only: false,
    }
}

/// The origin name's latency records: (region, load balancer it aliases, evaluates health).
async fn latency_records(clients: &Clients, zone: &str) -> Vec<(String, String, bool)> {
    let listed = clients
        .route53
        .list_resource_record_sets()
        .hosted_zone_id(zone)
        .send()
        .await
        .unwrap();
    let mut found: Vec<_> = listed
        .resource_record_sets()
        .iter()
        .filter(|set| set.name() == "origin.sites.example.com.")
        .map(|set| {
            assert_eq!(set.region().map(|r| r.as_str()), set.set_identifier());
            let alias = set.alias_target().expect("an alias to a load balancer");
            (
                set.set_identifier().unwrap_or_default().to_string(),
                alias.dns_name().to_string(),
                alias.evaluate_target_health(),
            )
        })
        .collect();
    found.sort();
    found
}

/// The environment of the latest revision of a task definition family, by name.
async fn task_environment(clients: &Clients, family: &str) -> Vec<(String, String)> {
    let definition = clients
        .ecs
        .describe_task_definition()
        .task_definition(family)
        .send()
        .await
        .unwrap();
    definition
        .task_definition()
        .unwrap()
        .container_definitions()[0]
        .environment()
        .iter()
        .map(|v| {
            let (name, value) = (v.name().unwrap_or_default(), v.value().unwrap_or_default());
            (name.to_string(), value.to_string())
        })
        .collect()
}

fn variable<'a>(environment: &'a [(String, String)], name: &str) -> Option<&'a str> {
    environment
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, value)| value.as_str())
}

/// The builder role's inline policy.
async fn builder_policy(clients: &Clients) -> serde_json::Value {
    let policy = clients
        .iam
        .get_role_policy()
        .role_name("pier-builder")
        .policy_name("pier")
        .send()
        .await
        .unwrap();
    // IAM returns the document percent-encoded.
    let document = percent_encoding::percent_decode_str(policy.policy_document())
        .decode_utf8_lossy()
        .into_owned();
    serde_json::from_str(&document).unwrap_or_else(|e| panic!("{e}: {document}"))
}

/// The resources a policy allows `action` on.
fn allowed(policy: &serde_json::Value, action: &str) -> Vec<String> {
    let mut found = Vec::new();
    for statement in policy["Statement"].as_array().unwrap() {
        let actions = &statement["Action"];
        let names = match actions {
            serde_json::Value::String(one) => vec![one.as_str()],
            many => many
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|a| a.as_str())
                .collect(),
        };
        if names.contains(&action) {
            match &statement["Resource"] {
                serde_json::Value::String(one) => found.push(one.clone()),
                many => found.extend(
                    many.as_array()
                        .unwrap()
                        .iter()
                        .filter_map(|r| r.as_str().map(str::to_string)),
                ),
            }
        }
    }
    found
}

/// The active ECS services of the cluster `pier` in `region`, by name.
async fn services(moto: &Moto, region: &str) -> Vec<String> {
    let clients = Clients::connect(region, Some(&moto.endpoint)).await;
    let described = clients
        .ecs
        .describe_services()
        .cluster("pier")
        .services("pier-proxy")
        .services("pier-builders")
        .send()
        .await;
    let mut names: Vec<String> = match described {
        Ok(described) => described
            .services()
            .iter()
            .filter(|service| service.status() == Some("ACTIVE"))
            .filter_map(|service| service.service_name().map(str::to_string))
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

async fn apply(moto: &Moto, records: &std::path::Path, others: &[&str]) -> Vec<regions::RegionRun> {
    let connection = Connection {
        profile: None,
        endpoint: Some(&moto.endpoint),
    };
    regions::run(connection, &spec(others), Mode::Apply, records, &mut |_| {})
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn regions_are_set_up_routed_added_removed_and_torn_down() {
    let moto = Moto::start();
    let zone = moto.hosted_zone("example.com").await;
    let primary = Clients::connect("us-east-1", Some(&moto.endpoint)).await;
    let records = tempfile::tempdir().unwrap();

    // Two regions; the certificate waits for validation once.
    apply(&moto, records.path(), &["eu-west-1"]).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let runs = apply(&moto, records.path(), &["eu-west-1"]).await;
    assert_eq!(runs.len(), 2);
    let waiting: Vec<_> = runs
        .iter()
        .flat_map(|run| &run.report.changes)
        .filter(|c| c.action == Action::Waiting)
        .collect();
    assert!(waiting.is_empty(), "{waiting:#?}");
    let eu_bucket = format!("{BUCKET}-eu-west-1");
    assert!(moto.has_bucket(BUCKET).await);
    assert!(moto.has_bucket(&eu_bucket).await);
    assert_eq!(
        services(&moto, "us-east-1").await,
        ["pier-builders", "pier-proxy"]
    );
    assert_eq!(
        services(&moto, "eu-west-1").await,
        ["pier-proxy"],
        "no builders there"
    );
    let eu_balancer = runs[1].report.outputs.balancer_dns.clone().unwrap();
    let us_balancer = runs[0].report.outputs.balancer_dns.clone().unwrap();
    assert_eq!(
        latency_records(&primary, &zone).await,
        [
            ("eu-west-1".to_string(), eu_balancer.clone(), true),
            ("us-east-1".to_string(), us_balancer.clone(), true)
        ]
    );
    let distribution = runs[0].report.outputs.distribution_id.clone().unwrap();
    let origin = |clients: Clients, id: String| async move {
        let config = clients
            .cloudfront
            .get_distribution_config()
            .id(id)
            .send()
            .await
            .unwrap();
        config
            .distribution_config()
            .unwrap()
            .origins()
            .unwrap()
            .items()[0]
            .domain_name()
            .to_string()
    };
    assert_eq!(
        origin(
            Clients::connect("us-east-1", Some(&moto.endpoint)).await,
            distribution.clone()
        )
        .await,
        "origin.sites.example.com"
    );
    // The region's proxy reads the region's own bucket.
    let eu = Clients::connect("eu-west-1", Some(&moto.endpoint)).await;
    let proxy = task_environment(&eu, "pier-proxy").await;
    assert_eq!(
        variable(&proxy, "PIER_STORE"),
        Some(&*format!("s3://{eu_bucket}"))
    );

    // The builders, in the primary only, land each build in every region: they name the
    // other region's store, and may write deployments there but not logs or caches.
    let builder = task_environment(&primary, "pier-builder").await;
    assert_eq!(
        variable(&builder, "PIER_STORE"),
        Some(&*format!("s3://{BUCKET}"))
    );
    assert_eq!(variable(&builder, "PIER_REGION"), Some("us-east-1"));
    assert_eq!(
        variable(&builder, "PIER_REGIONS"),
        Some(&*format!("eu-west-1=s3://{eu_bucket}?region=eu-west-1"))
    );
    let policy = builder_policy(&primary).await;
    let writes = allowed(&policy, "s3:PutObject");
    for prefix in [
        "blobs",
        "deployments",
        "projects",
        "previews",
        "leases",
        "lambda",
    ] {
        for bucket in [BUCKET, &eu_bucket] {
            let arn = format!("arn:aws:s3:::{bucket}/{prefix}/*");
            assert!(writes.contains(&arn), "{arn} in {writes:#?}");
        }
    }
    for prefix in ["logs", "cache", "sources"] {
        assert!(writes.contains(&format!("arn:aws:s3:::{BUCKET}/{prefix}/*")));
        assert!(
            !writes.contains(&format!("arn:aws:s3:::{eu_bucket}/{prefix}/*")),
            "{writes:#?}"
        );
    }
    let deletes = allowed(&policy, "s3:DeleteObject");
    assert!(deletes.contains(&format!("arn:aws:s3:::{eu_bucket}/deployments/*")));
    assert!(
        !deletes.contains(&format!("arn:aws:s3:::{BUCKET}/deployments/*")),
        "the builders never remove a deployment in the primary: {deletes:#?}"
    );
    let publishes = allowed(&policy, "lambda:PublishVersion");
    assert!(
        publishes.iter().any(|arn| arn.contains(":eu-west-1:")),
        "{publishes:#?}"
    );

    // Again: nothing changes anywhere.
    let again = apply(&moto, records.path(), &["eu-west-1"]).await;
    for run in &again {
        assert!(
            run.report.changed_nothing(),
            "{}: {:#?}",
            run.region,
            run.report.changes
        );
    }

    // A third region: only it is made and routed; the global roles now name its bucket and
    // functions too, and the builders its store.
    let three = apply(&moto, records.path(), &["eu-west-1", "ap-south-1"]).await;
    let primary_changes: Vec<(String, String)> = three[0]
        .report
        .changes
        .iter()
        .filter(|c| c.action != Action::Exists)
        .map(|c| (c.resource.clone(), c.name.clone()))
        .collect();
    assert_eq!(
        primary_changes,
        [
            ("iam role".to_string(), "pier-proxy".to_string()),
            ("iam role".to_string(), "pier-builder".to_string()),
            ("iam role".to_string(), "pier-functions".to_string()),
            // The builders are given the new region's store, so they land builds there too.
            ("task definition".to_string(), "pier-builder".to_string()),
            ("ecs service".to_string(), "pier-builders".to_string()),
            (
                "latency record".to_string(),
                "origin.sites.example.com A (ap-south-1)".to_string()
            )
        ]
    );
    let proxy_policy = primary
        .iam
        .get_role_policy()
        .role_name("pier-proxy")
        .policy_name("pier")
        .send()
        .await
        .unwrap();
    // IAM returns the document percent-encoded; the ARNs' colons are what matters here.
    let document = proxy_policy.policy_document().replace("%3A", ":");
    for bucket in [
        BUCKET.to_string(),
        eu_bucket.clone(),
        format!("{BUCKET}-ap-south-1"),
    ] {
        assert!(
            document.contains(&format!("arn:aws:s3:::{bucket}/")),
            "{document}"
        );
    }
    assert!(three[1].report.changed_nothing());
    assert!(!three[2].report.changed_nothing());
    assert!(moto.has_bucket(&format!("{BUCKET}-ap-south-1")).await);
    assert_eq!(latency_records(&primary, &zone).await.len(), 3);

    // eu-west-1 left out: exactly it goes.
    apply(&moto, records.path(), &["ap-south-1"]).await;
    assert!(!moto.has_bucket(&eu_bucket).await);
    assert_eq!(services(&moto, "eu-west-1").await, Vec::<String>::new());
    assert_eq!(services(&moto, "ap-south-1").await, ["pier-proxy"]);
    let left: Vec<String> = latency_records(&primary, &zone)
        .await
        .into_iter()
        .map(|(region, _, _)| region)
        .collect();
    assert_eq!(left, ["ap-south-1", "us-east-1"]);

    // Back to one region: the routing goes and CloudFront reaches the load balancer again.
    apply(&moto, records.path(), &[]).await;
    assert!(latency_records(&primary, &zone).await.is_empty());
    assert!(!moto.has_bucket(&format!("{BUCKET}-ap-south-1")).await);
    let builder = task_environment(&primary, "pier-builder").await;
    assert_eq!(variable(&builder, "PIER_REGIONS"), None);
    assert!(
        !allowed(&builder_policy(&primary).await, "s3:PutObject")
            .iter()
            .any(|arn| arn.contains("ap-south-1")),
        "the builders no longer write to the region that left"
    );
    assert_eq!(
        origin(
            Clients::connect("us-east-1", Some(&moto.endpoint)).await,
            distribution
        )
        .await,
        us_balancer
    );

    // Teardown with a region in place: it goes first, then the primary.
    apply(&moto, records.path(), &["eu-west-1"]).await;
    let connection = Connection {
        profile: None,
        endpoint: Some(&moto.endpoint),
    };
    regions::teardown_others(connection, "pier", "us-east-1", records.path())
        .await
        .unwrap();
    let path = regions::record_path(records.path(), "pier", "us-east-1");
    let mut record = setup::record::SetupRecord::open(&path, "pier", "us-east-1").unwrap();
    setup::teardown(&primary, &mut record).await.unwrap();
    assert!(!moto.has_bucket(&eu_bucket).await);
    assert!(!moto.has_bucket(BUCKET).await);
    assert!(latency_records(&primary, &zone).await.is_empty());
}
