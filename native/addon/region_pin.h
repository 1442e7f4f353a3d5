// Keeping a region's memory mapped while a native thread uses it.
//
// A SharedRegion's close() unmaps its memory at once unless something pinned it. Native code that hands region memory
// to a thread of its own (RingPeerThread, a thread-mode sidecar) pins it first, so that a close() from JavaScript
// while the thread runs only detaches the JavaScript buffer; the unmap happens when the pin is released.
#ifndef NATIVE_SIDECAR_ADDON_REGION_PIN_H
#define NATIVE_SIDECAR_ADDON_REGION_PIN_H

#include <cstddef>

namespace ns_addon {

struct RegionPin;  // opaque

// If [data, data + length) lies inside a mapping of an open NativeRegion of this process, pins that mapping and
// returns the pin; otherwise (a SharedArrayBuffer, a plain ArrayBuffer, a closed region) returns nullptr and the
// caller keeps the memory alive some other way (a reference to its buffer). JavaScript thread.
RegionPin *PinRegionMemory(const void *data, size_t length);

// Releases a pin (nullptr is ignored); unmaps if the region was closed meanwhile and this was the last pin.
// Any thread.
void UnpinRegionMemory(RegionPin *pin);

}  // namespace ns_addon

#endif
