"""Core (internal zone, 行政权力运行平台): catalogue admin, cases, audit, staff and exchange
APIs."""
