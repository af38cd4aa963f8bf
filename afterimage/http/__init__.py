"""HTTP plumbing every audience shares: caching validators and 304s, query-string arguments, safe redirects."""
