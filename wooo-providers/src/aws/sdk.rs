//! The seam over the AWS SDKs (aws-sdk-eks, -ec2, -iam, -sts): [`api::AwsApi`](super::api::AwsApi) for real.
