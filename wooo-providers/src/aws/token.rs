//! The in-process EKS bearer token: a presigned STS `GetCallerIdentity` URL.
