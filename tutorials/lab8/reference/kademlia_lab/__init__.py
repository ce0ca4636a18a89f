"""Lab 8's reference solution: btref's own DHT code behind the lab's interface (BEP 5)."""
