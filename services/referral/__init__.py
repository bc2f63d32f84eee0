"""The referral service: referrals from draft to a closed loop (see docs/api-referral.md)."""
