//! Items in numbered slots: the event queue's storage.

/// Items in numbered slots, reused once taken.
#[derive(Clone, Debug)]
pub(super) struct Slab<T> {
    slots: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Slab<T> {
    pub(super) fn put(&mut self, item: T) -> u32 {
        match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(item);
                slot
            }
            None => {
                self.slots.push(Some(item));
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 items at once")
            }
        }
    }

    /// The item in `slot`, which must hold one.
    pub(super) fn get(&self, slot: u32) -> &T {
        self.slots[slot as usize].as_ref().expect("a slot in use")
    }

    /// Takes the item out of `slot`, which must hold one.
    pub(super) fn take(&mut self, slot: u32) -> T {
        let item = self.slots[slot as usize].take().expect("a slot in use");
        self.free.push(slot);
        item
    }
}
