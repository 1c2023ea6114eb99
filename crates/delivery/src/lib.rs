//! Outbound delivery (being written).
