"""btref's built-in discovery plugins (registered through the `btref` entry-point group)."""
