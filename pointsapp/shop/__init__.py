"""The 积分超市 desk: find a household, redeem, print the 兑换单, stock, settings, stars, /shop."""
