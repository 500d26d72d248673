//! The ECS Fargate build runner against moto's server: the task carries the build's
//! environment as container overrides, is seen running, and cancel stops it.

use pier_aws::ecs_builds::{EcsBuild, EcsRunner, EcsTarget, TaskState};
use pier_tests::Moto;
use pier_tests::http::{request, send_raw};

/// The default VPC's subnet and security group ids, which change on every moto start. Asked
/// through EC2's query API directly, so the tests need no EC2 SDK.
fn default_network(moto: &Moto) -> (String, String) {
    let addr = moto.endpoint.trim_start_matches("http://").parse().unwrap();
    let ec2 = |action: &str| {
        request(
            addr,
            "GET",
            moto.endpoint.trim_start_matches("http://"),
            &format!("/?Action={action}&Version=2016-11-15"),
            &[(
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ec2/aws4_request, \
                 SignedHeaders=host, Signature=unsigned",
            )],
        )
        .text()
    };
    let first = |xml: &str, tag: &str| {
        let open = format!("<{tag}>");
        let start = xml.find(&open).expect("the tag is there") + open.len();
        xml[start..].split('<').next().unwrap().to_string()
    };
    (
        first(&ec2("DescribeSubnets"), "subnetId"),
        first(&ec2("DescribeSecurityGroups"), "groupId"),
    )
}

/// Holds tasks at RUNNING instead of stepping them towards STOPPED on every describe.
fn hold_tasks_running(moto: &Moto) {
    let addr = moto.endpoint.trim_start_matches("http://").parse().unwrap();
    let body =
        r#"{"model_name":"ecs::task","transition":{"progression":"manual","times":1000000}}"#;
    let raw = format!(
        "POST /moto-api/state-manager/set-transition HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        moto.endpoint.trim_start_matches("http://"),
        body.len()
    );
    let response = send_raw(addr, raw.as_bytes(), false);
    assert_eq!(response.status, 201, "{}", response.text());
}

#[tokio::test]
async fn builds_run_as_fargate_tasks_with_their_environment_and_cancel_stops_them() {
    let moto = Moto::start();
    hold_tasks_running(&moto);
    let config = pier_core::aws::loader()
        .endpoint_url(&moto.endpoint)
        .load()
        .await;
    let ecs = aws_sdk_ecs::Client::new(&config);
    ecs.create_cluster()
        .cluster_name("pier-builds")
        .send()
        .await
        .unwrap();
    let container = aws_sdk_ecs::types::ContainerDefinition::builder()
        .name("builder")
        .image("pier-builder:latest")
        .memory(2048)
        .build();
    ecs.register_task_definition()
        .family("pier-builder")
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .cpu("1024")
        .memory("2048")
        .container_definitions(container)
        .send()
        .await
        .unwrap();
    let (subnet, security_group) = default_network(&moto);

    let runner = EcsRunner::connect(
        EcsTarget {
            cluster: "pier-builds".into(),
            task_definition: "pier-builder".into(),
            container: "builder".into(),
            subnets: vec![subnet],
            security_groups: vec![security_group],
            assign_public_ip: true,
        },
        Some(&moto.endpoint),
    )
    .await;
    let build = EcsBuild {
        deployment: "0mwyabcdef0123456789".into(),
        environment: vec![
            (
                "PIER_GIT_URL".into(),
                "https://github.com/acme/site.git".into(),
            ),
            ("PIER_PROJECT".into(), "site".into()),
        ],
    };
    let task = runner.start(&build).await.unwrap();
    assert_eq!(runner.state(&task).await.unwrap(), TaskState::Running);

    let describe_task = async || {
        ecs.describe_tasks()
            .cluster("pier-builds")
            .tasks(&task)
            .send()
            .await
            .unwrap()
    };
    let described = describe_task().await;
    let overrides = described.tasks()[0]
        .overrides()
        .unwrap()
        .container_overrides();
    assert_eq!(overrides[0].name(), Some("builder"));
    let environment: Vec<(&str, &str)> = overrides[0]
        .environment()
        .iter()
        .map(|pair| (pair.name().unwrap(), pair.value().unwrap()))
        .collect();
    assert!(environment.contains(&("PIER_GIT_URL", "https://github.com/acme/site.git")));
    assert!(environment.contains(&("PIER_PROJECT", "site")));
    assert!(environment.contains(&("PIER_DEPLOYMENT_ID", "0mwyabcdef0123456789")));

    runner.stop(&task, "canceled by the user").await.unwrap();
    let described = describe_task().await;
    let stopped = &described.tasks()[0];
    assert_eq!(stopped.desired_status(), Some("STOPPED"));
    assert_eq!(stopped.stopped_reason(), Some("canceled by the user"));
    assert_eq!(runner.state(&task).await.unwrap(), TaskState::Stopped);
}
