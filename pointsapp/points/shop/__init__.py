"""The 积分超市 (points shop): catalogue and stock, redemption, the yearly reset, star ratings
and the liability guard. Framework-free, like the rest of the core."""
