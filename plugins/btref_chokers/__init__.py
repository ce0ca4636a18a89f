"""btref's built-in chokers plugins (registered through the `btref` entry-point group)."""
