"""How to walk a portal: one generic spider driven by a source's configuration."""
