//! Keeps a value on cache lines of its own, so that one thread writing it
//! does not slow down others reading their own data next to it (false
//! sharing). 128 bytes: two lines, as x86's adjacent-line prefetcher pulls
//! pairs.

#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> std::ops::DerefMut for Padded<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}
