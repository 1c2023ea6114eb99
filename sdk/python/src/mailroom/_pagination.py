"""Pages of a listing. Iterating a page walks every item of the listing, fetching the next
pages on demand; ``.items`` is the current page only."""

from __future__ import annotations

from typing import Any, AsyncIterator, Callable, Awaitable, Generator, Generic, Iterator, List, Optional, TypeVar

T = TypeVar("T")

__all__ = ["SyncPage", "AsyncPage", "AsyncPager"]


class SyncPage(Generic[T]):
    """One page of a listing; ``for item in page`` goes on across pages."""

    def __init__(self, items: List[T], next_cursor: Optional[str], fetch: Callable[[Optional[str]], "SyncPage[T]"]):
        self.items = items
        self.next_cursor = next_cursor
        self._fetch = fetch

    @property
    def data(self) -> List[T]:
        """The items of this page (an alias of ``items``)."""
        return self.items

    def has_next_page(self) -> bool:
        """Whether another page may follow (an empty page ends a listing: the event log
        always returns a cursor to resume from)."""
        return bool(self.next_cursor) and bool(self.items)

    def next_page(self) -> Optional["SyncPage[T]"]:
        """Fetches the page after this one, or returns ``None`` at the end."""
        return self._fetch(self.next_cursor) if self.has_next_page() else None

    def iter_pages(self) -> Iterator["SyncPage[T]"]:
        page: Optional[SyncPage[T]] = self
        while page is not None:
            yield page
            page = page.next_page()

    def __iter__(self) -> Iterator[T]:
        for page in self.iter_pages():
            yield from page.items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> T:
        return self.items[index]

    def __repr__(self) -> str:
        return f"SyncPage(items={len(self.items)}, next_cursor={self.next_cursor!r})"


class AsyncPage(Generic[T]):
    """One page of a listing; ``async for item in page`` goes on across pages."""

    def __init__(self, items: List[T], next_cursor: Optional[str], fetch: Callable[[Optional[str]], Awaitable["AsyncPage[T]"]]):
        self.items = items
        self.next_cursor = next_cursor
        self._fetch = fetch

    @property
    def data(self) -> List[T]:
        return self.items

    def has_next_page(self) -> bool:
        return bool(self.next_cursor) and bool(self.items)

    async def next_page(self) -> Optional["AsyncPage[T]"]:
        return await self._fetch(self.next_cursor) if self.has_next_page() else None

    async def iter_pages(self) -> AsyncIterator["AsyncPage[T]"]:
        page: Optional[AsyncPage[T]] = self
        while page is not None:
            yield page
            page = await page.next_page()

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.iter_pages():
            for item in page.items:
                yield item

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> T:
        return self.items[index]

    def __repr__(self) -> str:
        return f"AsyncPage(items={len(self.items)}, next_cursor={self.next_cursor!r})"


class AsyncPager(Generic[T]):
    """What an async ``list`` returns: ``await`` it for the first page, or ``async for`` over it
    for every item."""

    def __init__(self, first: Callable[[], Awaitable[AsyncPage[T]]]):
        self._first = first

    def __await__(self) -> Generator[Any, None, AsyncPage[T]]:
        return self._first().__await__()

    async def __aiter__(self) -> AsyncIterator[T]:
        page = await self._first()
        async for item in page:
            yield item
