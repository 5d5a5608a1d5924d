//! The LINE platform sandbox (being built for issue 4).
