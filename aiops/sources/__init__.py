"""Sources: timings pulled on a schedule from the tools' APIs (GitHub, Jira, Zendesk), each pull
one batch through the same checks as an uploaded file."""
