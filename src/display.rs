//! `Display` of the types shown as the word their `as_str` gives.

/// Implements `Display` for each type given as its `as_str()`.
macro_rules! display_as_str {
    ($($ty:ty),+ $(,)?) => {$(
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )+};
}
pub(crate) use display_as_str;
