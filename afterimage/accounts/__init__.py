"""The author's account: her password, sign-in throttling and server-side sessions, shared by every audience."""
