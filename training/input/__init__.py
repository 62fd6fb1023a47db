"""The job's input: the shared file read into a clean DataFrame, numbers as people write them,
and staging (where a run finds its dataset and writes its folder, on this disk or in S3)."""
