// The kernel's tree lock (fs/tree.h, TreeLock): a sleeping lock for the tmpfs and the tree's
// directories, taken by system calls on kernel threads that are preempted (chapter 13).
#pragma once

namespace ferrite::proc {

// Makes the tree's sections exclusive (proc::init(), before any program runs).
void init_tree_lock();

}  // namespace ferrite::proc
