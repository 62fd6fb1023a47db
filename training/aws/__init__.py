"""The job's AWS adapters: S3 storage, the EventBridge event sink and the preview Lambda.
boto3 is imported inside them only when used, so local runs never load it."""
