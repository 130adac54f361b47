//! Message boundaries on a byte stream (taught in lesson 07).
