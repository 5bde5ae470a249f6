"""Administration of the platform over HTTP (administrators of an organization only)."""
