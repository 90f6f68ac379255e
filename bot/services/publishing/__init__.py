"""Publishing to the official pages: the press secretary's queue (``queue``), the planner's
slots (``plans``), dispatch to the pages' targets with links back, failures and warnings
(``dispatch``), the post's words (``compose``). The targets are pages (``bot.ports.Page``):
a VK wall, a Telegram channel.

How a post travels, and why it goes out once per target even across kill -9:

* ``draft`` — the press secretary sent ``/post``; the text is checked against every
  target's limits *before* anything is stored (too long is refused with the reason;
  a photo caption over 1024 is split off and the preview says so — never cut).
* ``queued`` — «В очередь»; ``queued_at`` is also the queue order (kept unique per page,
  the ⬆/⬇ buttons swap it). The planner (pure, ``bot.domain.planner``) is re-run each
  tick and its slots stored in ``planned_at``.
* ``publishing`` — the tick found the stored slot due; in ONE transaction the post is
  marked, ``published_at`` set (it now counts toward the quota) and one outbox row per
  (post, target, part) queued under a deterministic key. A crash before the commit
  leaves the post queued; after it, the rows go out on restart. VK ``wall.post`` carries
  a ``guid``, so a call repeated after a crash between the call and its record returns
  the same post; uploaded photos and created polls are remembered in ``cursors`` first.
* ``published`` / ``failed`` — every target settled (outbox hooks, in the transaction
  that settles the row); the press secretary gets the links, a permanent failure goes
  to the press secretary and the admins in the platform's words.

Posts whose slot passed while the clock jumped (or the process was down) are not sent
in a burst: at most one planner-placed post per page per tick, only inside the page's
publishing hours, the gap and the quota kept; the rest are re-planned from now.
"""
