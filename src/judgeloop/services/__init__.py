"""Services: the only writers. Each function takes a session first and owns its transaction."""
