"""The Lambda handlers of the AWS deployment: thin, they parse an event and call the same
services the local bot uses (the job service through Bolt, the job event handler)."""
