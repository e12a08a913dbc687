"""The users service's per-process parts: built once at start-up, shared by requests and handlers.

Users needs nothing of its own but the cursor codec its listings sign with.
"""

from shared.pagination import PagingComponents, paging_components

Components = PagingComponents
build_components = paging_components
