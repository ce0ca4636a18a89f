"""btref's built-in pickers plugins (registered through the `btref` entry-point group)."""
