"""Authorization: OAuth2 tokens (client credentials for systems, login for people), SMART v2
scopes, and the requester every HTTP handler acts for."""
