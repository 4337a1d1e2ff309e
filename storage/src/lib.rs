//! `maat-storage`: RocksDB blocks, QCs, indexes, state, safety data, log nodes (issue 4).
