//! A pointer into a buffer whose disjoint parts parallel tasks write (the
//! similarity matrix's tiles, attention's texts and heads). Each use says
//! why no two tasks write the same element.

#[derive(Clone, Copy)]
pub(crate) struct DisjointMut(*mut f32);

// SAFETY: the tasks that share one write disjoint parts of its buffer,
// which outlives them (see each use).
unsafe impl Send for DisjointMut {}
unsafe impl Sync for DisjointMut {}

impl DisjointMut {
    pub(crate) fn new(buffer: &mut [f32]) -> DisjointMut {
        DisjointMut(buffer.as_mut_ptr())
    }

    /// # Safety
    /// `offset` lies within the buffer, and no other task writes there.
    pub(crate) unsafe fn at(self, offset: usize) -> *mut f32 {
        self.0.add(offset)
    }
}
