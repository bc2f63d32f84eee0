"""The kit every careledger service is built from; it holds no domain knowledge."""
