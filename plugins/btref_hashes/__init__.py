"""btref's built-in hashes plugins (registered through the `btref` entry-point group)."""
