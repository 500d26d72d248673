//! One place that loads the AWS configuration for every service client but S3's store (which
//! has its own timeouts and retry rules): the standard chain (environment, profiles, SSO,
//! instance roles), with an optional endpoint override that points every call at an emulator
//! such as moto. Real AWS is the default; the override is the one switch tests flip.

use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

/// The standard chain's loader, with Pier's one HTTPS client: every AWS client Pier makes
/// starts here.
pub fn loader() -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest()).http_client(https_client())
}

/// rustls over ring, with the platform's root certificates.
pub fn https_client() -> aws_sdk_s3::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// The SDK configuration from the standard chain; `region` wins over the chain's region.
pub async fn load(endpoint: Option<&str>, region: Option<&str>) -> SdkConfig {
    load_as(None, endpoint, region).await
}

/// As [`load`], with a named profile from `~/.aws/config` (the desktop's profile picker)
/// instead of `AWS_PROFILE`.
pub async fn load_as(
    profile: Option<&str>,
    endpoint: Option<&str>,
    region: Option<&str>,
) -> SdkConfig {
    let mut loader = loader();
    if let Some(profile) = profile {
        loader = named_profile(loader, profile);
    }
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_string()));
    }
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

/// Takes region, settings and credentials from the named profile. The default chain would
/// still prefer `AWS_ACCESS_KEY_ID` from the environment over it; a profile the user picked
/// (in the app's settings) must win, so its credentials provider is set explicitly (SSO,
/// assumed roles and static keys all come through it).
pub fn named_profile(loader: aws_config::ConfigLoader, profile: &str) -> aws_config::ConfigLoader {
    // Built outside the loader, so it is given the HTTPS client itself (SSO and assumed roles
    // make calls of their own).
    let calls = aws_config::provider_config::ProviderConfig::without_region()
        .with_http_client(https_client());
    loader.profile_name(profile).credentials_provider(
        aws_config::profile::ProfileFileCredentialsProvider::builder()
            .configure(&calls)
            .profile_name(profile)
            .build(),
    )
}

/// The region inside an SQS queue URL (`https://sqs.<region>.amazonaws.com/<account>/<name>`);
/// `None` for an emulator's URL.
pub fn region_of_queue_url(url: &str) -> Option<&str> {
    let host = url.split("://").nth(1)?.split('/').next()?;
    let rest = host.strip_prefix("sqs.")?;
    let region = rest.split('.').next()?;
    rest[region.len()..]
        .starts_with(".amazonaws.com")
        .then_some(region)
}

#[cfg(test)]
mod tests {
    #[test]
    fn queue_urls_name_their_region() {
        assert_eq!(
            super::region_of_queue_url("https://sqs.eu-west-1.amazonaws.com/1234/pier-builds"),
            Some("eu-west-1")
        );
        assert_eq!(
            super::region_of_queue_url("http://127.0.0.1:5000/123456789012/pier-builds"),
            None
        );
    }
}
