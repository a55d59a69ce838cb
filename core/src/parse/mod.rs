//! Pure parsers for command-line values.
