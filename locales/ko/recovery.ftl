# 복구: 실시간 동기화와 스냅샷 (/backup), /umbra status 의 해당 줄.

## /umbra status

status-sync-live = 동작 중 — 역할 { $roles }개, 채널 { $channels }개, 멤버 { $members }명 (전체 불러오기 { $since })
status-sync-loading = 이 서버를 불러오는 중…
status-sync-stale = 일시 중지 (Umbra 가 이 서버를 놓쳤습니다. Discord 가 서버를 다시 보내면 새로 불러옵니다)
status-snapshot-value = **{ $label }**, { $when } ({ $trigger })

## /backup

backup-created = 스냅샷 **{ $label }** (`{ $id }`) 을 만들었습니다: 역할 { $roles }개, 채널 { $channels }개, 권한 덮어쓰기 { $overwrites }개, 멤버 { $members }명 — { $size }.
backup-expired-note = 고정되지 않은 가장 오래된 스냅샷 { $count }개를 지웠습니다. 요금제에서 { $keep }개까지 보관합니다. 계속 보관하려면 `/backup pin` 으로 고정하세요.
backup-list-title = **스냅샷** ({ $count }개, 요금제 보관 한도: 고정되지 않은 스냅샷 { $keep }개)
backup-list-empty = 이 서버에는 아직 스냅샷이 없습니다. `/backup create` 로 만들어 보세요.
backup-list-line = { $pinned }**{ $label }** `{ $id }` — { $when } — { $trigger } — 멤버 { $members }명 — { $size }
backup-pinned-mark = 📌{ " " }
backup-info = **{ $label }**
    ID: `{ $id }`
    만든 시각: { $created } ({ $trigger }), { $as_of } 기준 상태
    내용: 역할 { $roles }개, 채널 { $channels }개, 권한 덮어쓰기 { $overwrites }개, 멤버 { $members }명, { $bans }
    그 밖에: { $more }
    크기: { $size } (압축 전 { $uncompressed }), 체크섬 `{ $checksum }…`
    고정: { $pinned }
    만든 사람: { $creator }
backup-info-bans = 차단 { $count }건
backup-info-bans-unknown = 차단 목록 없음 (Umbra가 차단 목록을 알기 전에 찍음)
backup-info-more = 이모지 { $emojis }개, 스티커 { $stickers }개, 스레드와 게시물 { $threads }개, 예약 이벤트 { $events }개, 온보딩 질문 { $onboarding }개, 웹후크 { $webhooks }개, 메시지 { $messages }개, { $automod }
backup-info-automod = AutoMod 규칙 { $count }개
backup-info-automod-unknown = AutoMod 규칙 없음 (찍을 때 알 수 없었음)
backup-info-more-unknown = (문서를 읽을 수 없음)
backup-deleted = 스냅샷 **{ $label }** 을 지웠습니다.
backup-pinned = 스냅샷 **{ $label }** 을 고정했습니다. 만료되지 않으며 요금제 보관 한도에 포함되지 않습니다.
backup-unpinned = 스냅샷 **{ $label }** 의 고정을 풀었습니다. 다시 요금제 보관 한도에 포함됩니다.
backup-exported = 스냅샷 **{ $label }** 파일입니다 ({ $size }). 안전한 곳에 보관하세요. `/backup import` 로 다시 불러올 수 있습니다.
backup-imported = 서버 **{ $source }** 의 스냅샷 **{ $label }** (`{ $id }`, { $as_of } 기준) 을 가져왔습니다: 역할 { $roles }개, 채널 { $channels }개, 권한 덮어쓰기 { $overwrites }개, 멤버 { $members }명 — { $size }.
backup-schedule-set = 이제 { $minutes }분마다 스냅샷을 만듭니다 (바뀌지 않은 상태는 두 번 저장하지 않습니다).
backup-schedule-raised = 요금제에서 허용하는 가장 짧은 간격은 { $minutes }분이라 그 간격을 씁니다 (요청: { $requested }분).
backup-schedule-off = 예약 스냅샷을 껐습니다.
backup-messages-on = 이제 스냅샷마다 { $channels }의 최근 메시지 { $count }개를 보관합니다 (현재 요금제: 채널 { $max_channels }개, 채널당 메시지 { $max_count }개까지). 복원이 이 채널을 다시 만들면 웹후크로 작성자의 이름과 아바타를 그대로 살려 순서대로 다시 올립니다.
backup-messages-off = 메시지 백업을 껐습니다. 이제 스냅샷에 메시지를 보관하지 않습니다.
error-messages-intent = Umbra가 메시지 내용을 읽을 수 없어 아무것도 바꾸지 않았습니다. Discord 개발자 포털에서 **Message Content Intent**를 켠 뒤 (애플리케이션 → Bot → Privileged Gateway Intents) 이 명령을 다시 실행하세요.
error-messages-plan = 현재 요금제에는 메시지 백업이 포함되어 있지 않습니다. `/billing plans`에서 메시지 백업을 포함하는 요금제를 확인하세요.
error-messages-channels = 현재 요금제에서는 채널 { $max }개까지만 메시지를 보관할 수 있습니다. 먼저 채널 하나를 빼세요 (`/backup messages`에서 그 채널을 고르고 보관: False).
error-messages-count = 현재 요금제에서는 채널당 메시지를 { $max }개까지 보관할 수 있습니다.
backup-trigger-manual = 수동
backup-trigger-scheduled = 예약
backup-trigger-pre-restore = 복원 직전
backup-trigger-emergency = 긴급
backup-trigger-import = 가져옴

## 소유자 알림

notify-snapshot-failed = Umbra 가 **{ $guild }** 의 자동 스냅샷을 만들지 못했습니다: { $reason }. 기존 스냅샷은 그대로입니다. `/backup create` 로 직접 만들 수 있습니다.

## 오류

error-backup-not-synced = Umbra 가 아직 이 서버를 불러오는 중입니다. 잠시 뒤에 다시 해 주세요.
error-backup-not-found = 이 서버에 `{ $snapshot }` 스냅샷이 없습니다. `/backup list` 로 확인하세요.
error-backup-pinned = `{ $snapshot }` 스냅샷은 고정되어 있습니다. 지우려면 먼저 `/backup unpin` 으로 고정을 푸세요.
error-backup-pin-limit = 이 요금제에서는 스냅샷을 { $max }개까지 고정할 수 있습니다. 먼저 하나의 고정을 푸세요.
error-backup-label-too-long = 이름은 { $max }자까지 쓸 수 있습니다.
error-backup-corrupt = `{ $snapshot }` 스냅샷이 손상되어 (체크섬 불일치) 쓸 수 없습니다.
error-backup-export-too-large = 이 스냅샷은 { $size } 파일이 됩니다. Discord 는 { $max }까지만 받습니다.
error-backup-file-too-large = 파일이 { $size } 입니다. { $max }까지만 받습니다.
error-backup-file-download = Discord 에서 파일을 내려받지 못했습니다. 다시 시도해 주세요.
error-backup-file-not-umbra = Umbra 스냅샷 파일 (`/backup export` 로 만든 파일) 이 아닙니다.
error-backup-file-version = 이 스냅샷 파일의 형식 버전은 { $version } 입니다. 이 Umbra 는 버전 { $supported } 을 읽습니다. 가져오려면 Umbra 를 업데이트하세요.
error-backup-file-checksum = 이 스냅샷 파일은 내보낸 뒤 바뀌었거나 손상되었습니다 (체크섬 불일치). 아무것도 가져오지 않았습니다.
error-backup-file-invalid = 올바른 스냅샷 파일이 아닙니다: { $details }. 아무것도 가져오지 않았습니다.

## 명령 이름과 설명

cmd-backup = 백업
cmd-backup-desc = 이 서버의 스냅샷 (소유자와 신뢰한 사용자 전용)
cmd-backup-create = 만들기
cmd-backup-create-desc = 지금 이 서버의 스냅샷 만들기
cmd-backup-create-opt-label = 이름
cmd-backup-create-opt-label-desc = 스냅샷 이름
cmd-backup-list = 목록
cmd-backup-list-desc = 이 서버의 스냅샷 목록
cmd-backup-info = 정보
cmd-backup-info-desc = 스냅샷 자세히 보기
cmd-backup-info-opt-snapshot = 스냅샷
cmd-backup-info-opt-snapshot-desc = 스냅샷 (이름 또는 날짜)
cmd-backup-delete = 삭제
cmd-backup-delete-desc = 스냅샷 지우기
cmd-backup-delete-opt-snapshot = 스냅샷
cmd-backup-delete-opt-snapshot-desc = 스냅샷 (이름 또는 날짜)
cmd-backup-pin = 고정
cmd-backup-pin-desc = 스냅샷을 계속 보관 (요금제 한도에 포함되지 않음)
cmd-backup-pin-opt-snapshot = 스냅샷
cmd-backup-pin-opt-snapshot-desc = 스냅샷 (이름 또는 날짜)
cmd-backup-unpin = 고정해제
cmd-backup-unpin-desc = 스냅샷이 다시 만료될 수 있게 하기
cmd-backup-unpin-opt-snapshot = 스냅샷
cmd-backup-unpin-opt-snapshot-desc = 스냅샷 (이름 또는 날짜)
cmd-backup-export = 내보내기
cmd-backup-export-desc = 스냅샷을 JSON 파일로 받기
cmd-backup-export-opt-snapshot = 스냅샷
cmd-backup-export-opt-snapshot-desc = 스냅샷 (이름 또는 날짜)
cmd-backup-import = 가져오기
cmd-backup-import-desc = 스냅샷 파일을 이 서버의 스냅샷으로 저장
cmd-backup-import-opt-file = 파일
cmd-backup-import-opt-file-desc = /backup export 로 받은 JSON 파일
cmd-backup-import-opt-label = 이름
cmd-backup-import-opt-label-desc = 스냅샷 이름
cmd-backup-schedule = 예약
cmd-backup-schedule-desc = 스냅샷 자동으로 만들기
cmd-backup-schedule-opt-minutes = 분
cmd-backup-schedule-opt-minutes-desc = 스냅샷 간격 (분, 비우면 끄기)
cmd-backup-messages = 메시지
cmd-backup-messages-desc = 고른 채널의 최근 메시지를 스냅샷마다 보관하기
cmd-backup-messages-opt-channel = 채널
cmd-backup-messages-opt-channel-desc = 텍스트 또는 공지 채널 (비우면 현재 설정 보기)
cmd-backup-messages-opt-keep = 보관
cmd-backup-messages-opt-keep-desc = 이 채널의 메시지 보관 여부 (False: 그만 보관, 채널 없이 False: 메시지 백업 끄기)
cmd-backup-messages-opt-count = 개수
cmd-backup-messages-opt-count-desc = 채널마다 보관할 최근 메시지 수 (기본값: 요금제 최대치)
