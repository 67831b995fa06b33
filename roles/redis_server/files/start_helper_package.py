"""The parts of the shardinel client package that redis-start-role imports: addresses and sentinel_answers."""
