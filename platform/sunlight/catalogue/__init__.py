"""The power-item library (行政权力事项库): departments, items, flows, discretion standards."""
