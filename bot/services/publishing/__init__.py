"""Publishing to the official pages: the press secretary's queue, the plan, the targets."""
