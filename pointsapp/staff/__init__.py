"""Staff pages: sign-in, capture, review, 公示, objections, village administration."""
