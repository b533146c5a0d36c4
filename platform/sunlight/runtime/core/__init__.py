"""Core (internal zone, 行政权力运行平台): catalogue admin, cases, audit, staff and exchange
APIs, and the cross-tier features — subordinate views, supervision orders (督办), catalogue
baselines, statistics — whose events the exchange transport carries (:mod:`.cross_tier`
registers their handlers with it)."""
